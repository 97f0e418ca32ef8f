"""A registry version that is a pickle (a python_model cloudpickled by an older NAG, or planted by anyone
with write access) is refused before anything of it is loaded; a model from code passes the same check."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from flows.models import UnsafeModelError, check_loadable

pytestmark = pytest.mark.slow


class Pickled(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


CODE = '''
import mlflow


class FromCode(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


mlflow.models.set_model(FromCode())
'''


def test_pickled_versions_are_refused_unloaded(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    code = tmp_path / "from_code.py"
    code.write_text(CODE)
    with mlflow.start_run():
        pickled = mlflow.pyfunc.log_model(name="pickled", python_model=Pickled(), pip_requirements=["mlflow"])
        from_code = mlflow.pyfunc.log_model(name="code", python_model=str(code), pip_requirements=["mlflow"])
    mlflow.register_model(pickled.model_uri, "old")
    with pytest.raises(UnsafeModelError, match="models:/old/1 is not a model from code"):
        check_loadable("models:/old/1")
    check_loadable(from_code.model_uri)  # a model from code: no pickled python_model
    assert Path(code).is_file()
