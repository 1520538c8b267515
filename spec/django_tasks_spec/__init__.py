"""The contract of DEP 0014 as this project implements it: the settings schemas
(``settings``), the typing Protocols (``protocols``) and, to come, the requirement catalogue."""
