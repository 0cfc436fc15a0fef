package passes

// extendedPasses are level 2: fusions into com.gocann operators.
func extendedPasses() []Pass { return nil }
