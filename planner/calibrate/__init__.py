"""Calibration: fitting the economics core's parameters to sales history."""
