"""The supervisor's SLA view: warnings and breaches, cases due soon, acknowledgements."""
