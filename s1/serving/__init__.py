"""`s1 serve`: the KServe predictor with budget forcing, KServe V1/V2 and OpenAI routes."""
