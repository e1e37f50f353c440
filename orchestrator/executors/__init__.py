"""Executors (SPEC §5): the local backend and the task-controller backend.

Every tool is one ``@tool(...)`` descriptor (``orchestrator.lib.tools``); ``local`` defines the built-in tools;
``task_controller`` sends attempts to the external controller; ``runner`` executes one attempt end to end
(start compare-and-set, lease heartbeat, tool or dispatch, completion).
"""
