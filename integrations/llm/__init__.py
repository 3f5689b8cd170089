"""An OpenAI-compatible chat-completions client (DeepSeek, Qwen compatible mode, Moonshot, vLLM, Ollama)
and a fake server speaking the same wire format for tests."""
