"""The Keras models and the experiments run on them: the builders, the three translators and their
decoding, the forecasters, the ConvNet, gradients and long memory; no Streamlit cache lives here.
"""
