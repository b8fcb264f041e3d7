"""Budget-forced generation: one token-level state machine, driven by transformers or vLLM."""
