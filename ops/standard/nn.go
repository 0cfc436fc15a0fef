package standard

// nnOps lists this family's operators.
func nnOps() []def {
	return nil
}
