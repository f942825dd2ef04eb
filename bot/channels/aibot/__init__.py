"""The AI bot (智能机器人) callback: JSON callbacks and streams in, ``response_url`` out."""
