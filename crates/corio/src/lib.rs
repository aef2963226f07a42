//! corio: an async runtime with the shape of Python's asyncio.
