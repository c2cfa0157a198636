namespace AttnScope.Sources.Onnx;

/// <summary>Small edits to serialized ONNX models without re-serializing them.</summary>
internal static class OnnxModelEditor
{
    /// <summary>
    /// Returns the model bytes with extra graph outputs. Protobuf merges a repeated embedded message field, so
    /// appending <c>graph { output { name: … type { tensor_type { elem_type: … } } } }</c> (ModelProto field 7)
    /// adds outputs to the existing graph; the original bytes are untouched. Names already outputs are skipped.
    /// </summary>
    public static byte[] AddOutputs(OnnxModel model, IEnumerable<(string Name, OnnxDataType ElemType)> outputs)
    {
        var existing = new HashSet<string>(model.Graph.Outputs.Select(o => o.Name), StringComparer.Ordinal);
        var graph = new ProtoWriter();
        foreach (var (name, elem) in outputs)
        {
            if (!existing.Add(name)) continue;
            graph.Message(12, vi => vi
                .String(1, name)
                .Message(2, type => type.Message(1, tensor => tensor.Int64(1, (int)elem))));
        }
        var extra = new ProtoWriter().Bytes(7, graph.ToArray()).ToArray();
        var result = new byte[model.Bytes.Length + extra.Length];
        model.Bytes.Span.CopyTo(result);
        extra.CopyTo(result.AsSpan(model.Bytes.Length));
        return result;
    }
}
