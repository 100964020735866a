// The one C boundary of the package: OpenBLAS's CBLAS, LAPACKE and the parts of GSL we use.
#ifndef FORTGANGULI_CNUMERICS_SHIM_H
#define FORTGANGULI_CNUMERICS_SHIM_H

#include <cblas.h>
// gsl_randist.h includes gsl_cblas.h, whose CBLAS enums clash with OpenBLAS's cblas.h.
// Claim its include guard so only OpenBLAS's declarations are seen.
#define __GSL_CBLAS_H__
#include <lapacke.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_cdf.h>

// GSL's generator types are mutable C globals, which Swift 6 strict concurrency rejects;
// these accessors hand them out as values.
static inline const gsl_rng_type *cn_rng_mt19937(void) { return gsl_rng_mt19937; }

// Stops GSL from calling abort() on a domain error; callers check arguments themselves.
static inline void cn_gsl_disable_abort(void) { gsl_set_error_handler_off(); }

// What the CPU (and the OS, through XCR0) supports, for choosing OpenBLAS kernels when its own
// detection falls back to generic ones (`BLAS.kernelOverride`).
static inline int cn_cpu_has_avx512(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd");
}
static inline int cn_cpu_has_avx2_fma(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#endif
