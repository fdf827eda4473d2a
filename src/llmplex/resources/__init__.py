"""Resource namespaces (``client.chat.completions``, ``client.completions``, ``client.embeddings``):
short methods that build a call and hand it to the driver."""
