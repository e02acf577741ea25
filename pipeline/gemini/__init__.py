"""Talking to Gemini: the SDK client, batch and sync calls, and an offline emulator (a test double)."""
