"""Small pieces every part of the relay uses: measuring, backoff, pushing messages.

Nothing here knows about cameras, frames or viewers.
"""
