"""The Web API's methods the stand-in answers, one module per family; server.py puts them together."""
