package standard

// reduceOps lists this family's operators.
func reduceOps() []def {
	return nil
}
