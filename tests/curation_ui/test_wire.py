"""The gateway's reading of Streamlit's messages matches the installed Streamlit."""

from __future__ import annotations

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.NewSession_pb2 import Initialize, NewSession

from curation_ui import wire


def test_the_field_numbers_are_streamlits():
    assert ForwardMsg.DESCRIPTOR.fields_by_name["new_session"].number == wire.FORWARD_NEW_SESSION
    assert NewSession.DESCRIPTOR.fields_by_name["initialize"].number == wire.NEW_SESSION_INITIALIZE
    assert Initialize.DESCRIPTOR.fields_by_name["session_id"].number == wire.INITIALIZE_SESSION_ID
    assert BackMsg.DESCRIPTOR.fields_by_name["clear_cache"].number == wire.BACK_CLEAR_CACHE


def test_a_new_session_message_gives_its_id_and_others_none():
    msg = ForwardMsg()
    msg.hash = "abc"
    msg.new_session.initialize.session_id = "5e55-10n"
    msg.new_session.page_script_hash = "x" * 300  # a long field before or after
    assert wire.new_session_id(msg.SerializeToString()) == "5e55-10n"
    other = ForwardMsg()
    other.script_finished = 1
    assert wire.new_session_id(other.SerializeToString()) is None
    assert wire.new_session_id(b"\xff\xff") is None  # not a message: nothing learnt


def test_clear_cache_is_recognised_and_a_rerun_is_not():
    clear, rerun = BackMsg(), BackMsg()
    clear.clear_cache = True
    rerun.rerun_script.query_string = "a=1"
    assert wire.asks_clear_cache(clear.SerializeToString())
    assert not wire.asks_clear_cache(rerun.SerializeToString())
    assert wire.asks_clear_cache(b"\x0b")  # unreadable: dropped too
