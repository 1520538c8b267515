"""The contract of DEP 0014 as this project implements it: settings schemas (and, to come,
the requirement catalogue and typing Protocols)."""
