"""DCOM wire types (MS-DCOM 2.2): the bytes of OBJREFs, bindings, ORPC headers and activation
properties. This layer knows bytes, not sockets or objects."""
