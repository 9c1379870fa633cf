"""Shape spaces: one network for a collection of shapes (see inrview.space.pipeline)."""
