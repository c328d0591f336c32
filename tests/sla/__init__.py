"""SLA clocks, the sweeper, the scheduler and the supervisor API."""
