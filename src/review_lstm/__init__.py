"""Predict an app review's 1-5 star score from its text with an LSTM, trained by a DVC pipeline."""
