"""The data the pages learn from, and how translations are scored against it: the translation grammar
and vocabularies, the real digits, the Mackey-Glass series, the temperature series and BLEU.
"""
