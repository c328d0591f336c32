"""Work queues, case files and workflow actions for the console."""
