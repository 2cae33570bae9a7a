"""The simulated world: the air (virtual radio and time), phones, scenarios, the demo."""
