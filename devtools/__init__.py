"""Development only: `make run`'s stack, a local Redis server, a development secret key."""
