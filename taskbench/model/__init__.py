"""Stage 2, the model side: prompts, requests, the client, the response cache, generation, vLLM servers."""
