package passes

// layoutPasses are level 3: layout selection for the CPU kernels.
func layoutPasses() []Pass { return nil }
