package standard

// controlOps lists this family's operators.
func controlOps() []def {
	return nil
}
