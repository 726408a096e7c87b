"""The Keras models and the experiments measured on them (builders, the three translators, the
forecasters, the ConvNet, gradients and long memory); nothing here caches or draws for a page.
"""
