// zlib, for reading gzip-compressed IDX files (Debian's dataset-fashion-mnist ships them gzipped).
#include <zlib.h>
