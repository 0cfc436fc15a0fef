package standard

// elementwiseOps lists this family's operators.
func elementwiseOps() []def {
	return nil
}
