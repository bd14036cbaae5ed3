"""episodes: multi-turn conversations judged by the task list they leave behind (the reference Task API
applies each answer); `--teacher-forcing` measures each turn in isolation."""

from taskbench import check_episode


def test_episodes(episode, judge):
    check_episode(judge(episode))
