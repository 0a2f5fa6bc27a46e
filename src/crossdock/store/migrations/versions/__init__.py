"""One module per schema revision; each creates or alters only its own feature's tables."""
