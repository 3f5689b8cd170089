"""WeChat mini-program server API: code-to-session login, phone numbers, the access token."""
