"""Sans-IO OpenAI: requests to exchange specs, events to output, errors, the model catalogue."""
