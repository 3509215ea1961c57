"""Sans-IO Gemini: request specs and patching, schema sanitising, response decoding, errors."""
