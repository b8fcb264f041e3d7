"""Everything that talks to Kubeflow or Kubernetes: KFP components, the s1 pipeline and its
compiled spec, the PyTorchJob / TrainJob / InferenceService builders with their launchers, and
the renderer of the kustomize base.

The library (`s1/`) never imports from here; components import `s1` inside their bodies, and the
`s1` CLI finds `s1 pipeline` and the cluster launchers through entry points (pyproject.toml).
"""
