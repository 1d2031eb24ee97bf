"""The chain's features, one package each (see ../shared/DESIGN.md, Layers).

A feature imports the core, and another feature only through what that one
declares as its interface.
"""
