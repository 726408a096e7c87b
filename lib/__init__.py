"""Everything the pages use: data, models, the parameter counter, the training engine and the charts."""
