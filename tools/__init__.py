"""Maintainer tools that are not part of the installed product: the fault-injection soak
(`make soak`)."""
