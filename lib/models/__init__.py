"""Floor 1, the models: the Keras models and the experiments run on them (the builders, the three
translators and their decoding, the forecasters, the ConvNet, gradients and long memory).

May import: lib.engine, lib.data. No Streamlit, directly or through lib.engine's drawing modules:
a model is built, trained and measured the same in a page, a benchmark or a test; page glue trains
it live.
"""
