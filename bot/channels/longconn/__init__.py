"""The AI bot's long connection (长连接): frames, the client, the one holder per bot, and its relay for sends."""
