"""Executors (SPEC §5): the tool registry, the local backend and the task-controller backend.

``registry`` holds every tool (adding one is one decorated function); ``local`` defines the built-in tools;
``task_controller`` sends attempts to the external controller; ``runner`` executes one attempt end to end
(start compare-and-set, lease heartbeat, tool or dispatch, completion).
"""
