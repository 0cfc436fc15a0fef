// Cast from SRC to DST (-DSRC=… -DDST=…). Casts to bool (u8) give 0 or 1.
KERNEL void cast(GLOBAL const SRC* X, i64 xo, GLOBAL DST* Y, i64 yo, i64 n) {
	i64 i = GLOBAL_ID(0);
	if (i >= n) return;
#ifdef TO_BOOL
	Y[yo + i] = X[xo + i] != (SRC)0;
#else
	Y[yo + i] = (DST)X[xo + i];
#endif
}
