package standard

// shapeOps lists this family's operators.
func shapeOps() []def {
	return nil
}
