using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace AttnScope.Analyses.Flow;

/// <summary>
/// Exact max flow from one output-layer token to every input token of a <see cref="FlowNetwork"/>, by highest-label
/// push–relabel (current arcs, global relabelling, gap heuristic) warm-started from one sink to the next. One solver per thread;
/// it allocates only when created.
/// </summary>
/// <remarks>
/// For source token s only the edges leaving (L, s) matter, and for sink token t only the edges entering (0, t): the
/// other top nodes have no way in and the other bottom nodes no way out. So the solver keeps the middle levels
/// 1..L-1 (n nodes each, node id (level - 1)·n + token), a source whose edges are row s of the top layer, and a sink
/// whose edges are column t of the bottom layer. The source edges are saturated once per source and never returned:
/// only phase 1 of push–relabel runs, which ends with a maximum preflow whose sink excess is the maximum flow value
/// (the nodes that can still reach the sink in the residual graph are the sink side of a minimum cut).
/// Moving from sink t to sink t' caps the flow on every bottom edge at its new capacity; what is cut off stays as
/// excess at the level-1 node, which keeps a valid preflow, and a global relabel makes the labels valid again.
/// Flow that could not reach one sink stays in the network for the next one.
/// </remarks>
internal sealed class FlowSolver
{
    /// <summary>Residual capacities and excesses at or below this are float round-off, not flow.</summary>
    internal const double Eps = 1e-13;

    private readonly FlowNetwork net;
    private readonly int n, nn, levels, nodes, dead;
    private readonly double[] cap, capT;
    private readonly double[] f, ft;             // flow on the middle layers, row-major and transposed (same values)
    private readonly double[] sinkFlow, sinkCap; // bottom edges (level-1 node → sink)
    private readonly double[] excess;
    private readonly int[] label, count, bucket, next, queue, current, unlabelled;
    private int maxActive, relabels, source = -1;
    private double sourceTotal;

    public FlowSolver(FlowNetwork network)
    {
        net = network;
        n = network.Tokens;
        nn = n * n;
        levels = network.Layers - 1;
        nodes = levels * n;
        dead = nodes + 1; // no real distance to the sink is this long
        cap = network.Cap;
        capT = network.CapT;
        f = new double[cap.Length];
        ft = new double[cap.Length];
        sinkFlow = new double[n];
        sinkCap = new double[n];
        excess = new double[nodes];
        label = new int[nodes];
        count = new int[dead + 1];
        bucket = new int[dead + 1];
        next = new int[nodes];
        queue = new int[nodes];
        current = new int[nodes];
        unlabelled = new int[levels + 2];
    }

    /// <summary>Global relabels run after this many relabels (default: the number of nodes; a tuning knob, any value is correct).</summary>
    public int GlobalRelabelPeriod { get; set; } = -1;

    /// <summary>Writes the maximum flow from output token <paramref name="s"/> to every input token into <paramref name="row"/>.</summary>
    public void SolveSource(int s, Span<double> row)
    {
        if (levels == 0)
        {
            cap.AsSpan(s * n, n).CopyTo(row);
            return;
        }
        StartSource(s);
        for (int t = 0; t < n; t++) row[t] = SolveSink(t);
    }

    /// <summary>Saturates the edges leaving source token <paramref name="s"/> over an empty network.</summary>
    internal void StartSource(int s)
    {
        source = s;
        Array.Clear(f);
        Array.Clear(ft);
        Array.Clear(sinkFlow);
        Array.Clear(excess);
        var top = cap.AsSpan((levels * n + s) * n, n); // row s of layer L-1
        top.CopyTo(excess.AsSpan((levels - 1) * n, n));
        sourceTotal = 0;
        foreach (var c in top) sourceTotal += c;
    }

    /// <summary>The maximum flow from the current source to input token <paramref name="t"/>, continuing from the last sink's preflow.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal double SolveSink(int t)
    {
        var column = capT.AsSpan(t * n, n); // column t of layer 0
        bool open = false;
        for (int x = 0; x < n; x++)
        {
            double c = column[x];
            sinkCap[x] = c;
            if (sinkFlow[x] > c)
            {
                excess[x] += sinkFlow[x] - c;
                sinkFlow[x] = c;
            }
            else if (c - sinkFlow[x] > Eps) open = true;
        }
        // Upper bounds: every bottom edge full, or all of the source's flow arrived — nothing more can come.
        if (open && SinkValue() < sourceTotal - Eps)
        {
            GlobalRelabel();
            Discharge();
        }
        return SinkValue();
    }

    private double SinkValue()
    {
        double v = 0;
        foreach (var x in sinkFlow) v += x;
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Discharge()
    {
        int period = GlobalRelabelPeriod > 0 ? GlobalRelabelPeriod : nodes;
        while (true)
        {
            while (maxActive > 0 && bucket[maxActive] < 0) maxActive--;
            if (maxActive == 0) return;
            int u = bucket[maxActive];
            bucket[maxActive] = next[u];
            DischargeNode(u);
            if (relabels > period) GlobalRelabel();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void DischargeNode(int u)
    {
        int k = u / n + 1, x = u - (k - 1) * n, d = label[u];
        int forward = k == 1 ? 1 : n, arcs = forward + (k < levels ? n : 0);
        double ex = excess[u];
        int arc = current[u];
        while (true)
        {
            // Push along admissible arcs from the current one on; arcs before it are not admissible.
            if (arc < forward)
            {
                if (k == 1)
                {
                    double r = sinkCap[x] - sinkFlow[x];
                    if (r > Eps && d == 1)
                    {
                        double delta = Math.Min(ex, r);
                        sinkFlow[x] += delta;
                        ex -= delta;
                        if (ex <= Eps) goto done;
                    }
                    arc = 1;
                }
                else
                {
                    int row = (k - 1) * nn + x * n, head = (k - 2) * n;
                    while ((arc = Next(cap, f, row, head, arc, d - 1)) < n)
                    {
                        int e = row + arc;
                        double delta = Math.Min(ex, cap[e] - f[e]);
                        f[e] += delta;
                        ft[(k - 1) * nn + arc * n + x] += delta;
                        Receive(head + arc, delta);
                        ex -= delta;
                        if (ex <= Eps) goto done;
                        arc++;
                    }
                }
            }
            if (arc < arcs)
            {
                int row = k * nn + x * n, tail = k * n;
                int i = arc - forward;
                while ((i = Next(null, ft, row, tail, i, d - 1)) < n)
                {
                    int e = row + i;
                    double delta = Math.Min(ex, ft[e]);
                    ft[e] -= delta;
                    f[k * nn + i * n + x] -= delta;
                    Receive(tail + i, delta);
                    ex -= delta;
                    if (ex <= Eps) { arc = forward + i; goto done; }
                    i++;
                }
            }
            // Excess left and no admissible arc: relabel (or retire the node when a gap opens).
            relabels++;
            if (--count[d] == 0)
            {
                for (int w = 0; w < nodes; w++)
                    if (label[w] > d && label[w] < dead) { count[label[w]]--; label[w] = dead; }
                label[u] = dead;
                break;
            }
            d = MinResidualLabel(k, x) + 1;
            if (d >= dead) { label[u] = dead; break; }
            label[u] = d;
            count[d]++;
            arc = 0;
        }
    done:
        excess[u] = ex;
        current[u] = arc;
    }

    /// <summary>
    /// The first j ≥ <paramref name="from"/> (or n) whose arc is admissible: residual capacity above
    /// <see cref="Eps"/> — capacity minus flow when <paramref name="capacity"/> is given, else the flow itself (a
    /// reverse arc) — towards a node labelled <paramref name="want"/>. Four arcs at a time where the CPU allows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int Next(double[]? capacity, double[] flow, int row, int labels, int from, int want)
    {
        int j = from;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double fl = ref MemoryMarshal.GetArrayDataReference(flow);
            ref double ca = ref capacity is null ? ref fl : ref MemoryMarshal.GetArrayDataReference(capacity);
            ref int lab = ref MemoryMarshal.GetArrayDataReference(label);
            var eps = Vector256.Create(Eps);
            var w = Vector256.Create((long)want);
            for (; j + 4 <= n; j += 4)
            {
                var r = Vector256.LoadUnsafe(ref fl, (nuint)(row + j));
                if (capacity is not null) r = Vector256.LoadUnsafe(ref ca, (nuint)(row + j)) - r;
                var l = Vector128.LoadUnsafe(ref lab, (nuint)(labels + j));
                var l64 = Vector256.Create(Vector128.WidenLower(l), Vector128.WidenUpper(l));
                uint bits = (Vector256.GreaterThan(r, eps).AsInt64() & Vector256.Equals(l64, w)).ExtractMostSignificantBits();
                if (bits != 0) return j + BitOperations.TrailingZeroCount(bits);
            }
        }
        for (; j < n; j++)
        {
            double r = capacity is null ? flow[row + j] : capacity[row + j] - flow[row + j];
            if (r > Eps && label[labels + j] == want) return j;
        }
        return n;
    }

    /// <summary>The lowest label among the nodes that node (k, x) has residual arcs to (dead − 1 when none).</summary>
    private int MinResidualLabel(int k, int x)
    {
        int min = dead - 1;
        if (k == 1)
        {
            if (sinkCap[x] - sinkFlow[x] > Eps) return 0;
        }
        else min = Math.Min(min, MinLabel(cap, f, (k - 1) * nn + x * n, (k - 2) * n));
        if (k < levels) min = Math.Min(min, MinLabel(null, ft, k * nn + x * n, k * n));
        return min;
    }

    /// <summary>The lowest label over a row of arcs with residual capacity (as in <see cref="Next"/>); int.MaxValue when none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private int MinLabel(double[]? capacity, double[] flow, int row, int labels)
    {
        int j = 0;
        long min = int.MaxValue;
        if (Vector256.IsHardwareAccelerated)
        {
            ref double fl = ref MemoryMarshal.GetArrayDataReference(flow);
            ref double ca = ref capacity is null ? ref fl : ref MemoryMarshal.GetArrayDataReference(capacity);
            ref int lab = ref MemoryMarshal.GetArrayDataReference(label);
            var eps = Vector256.Create(Eps);
            var none = Vector256.Create((long)int.MaxValue);
            var m = none;
            for (; j + 4 <= n; j += 4)
            {
                var r = Vector256.LoadUnsafe(ref fl, (nuint)(row + j));
                if (capacity is not null) r = Vector256.LoadUnsafe(ref ca, (nuint)(row + j)) - r;
                var l = Vector128.LoadUnsafe(ref lab, (nuint)(labels + j));
                var l64 = Vector256.Create(Vector128.WidenLower(l), Vector128.WidenUpper(l));
                m = Vector256.Min(m, Vector256.ConditionalSelect(Vector256.GreaterThan(r, eps).AsInt64(), l64, none));
            }
            for (int q = 0; q < 4; q++) min = Math.Min(min, m.GetElement(q));
        }
        for (; j < n; j++)
        {
            double r = capacity is null ? flow[row + j] : capacity[row + j] - flow[row + j];
            if (r > Eps && label[labels + j] < min) min = label[labels + j];
        }
        return (int)min;
    }

    private void Receive(int v, double delta)
    {
        double was = excess[v];
        excess[v] = was + delta;
        if (was <= Eps && was + delta > Eps)
        {
            int lv = label[v];
            next[v] = bucket[lv];
            bucket[lv] = v;
            if (lv > maxActive) maxActive = lv;
        }
    }

    /// <summary>Exact distances to the sink in the residual graph (breadth-first, backwards); unreachable nodes are retired.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void GlobalRelabel()
    {
        Array.Fill(label, dead);
        Array.Clear(current);
        // unlabelled[k]: level k's nodes not reached yet; a level with none left is not scanned again.
        var unlabelled = this.unlabelled;
        Array.Fill(unlabelled, n);
        int headQ = 0, tailQ = 0;
        for (int x = 0; x < n; x++)
            if (sinkCap[x] - sinkFlow[x] > Eps) { label[x] = 1; queue[tailQ++] = x; unlabelled[1]--; }
        while (headQ < tailQ)
        {
            int u = queue[headQ++];
            int k = u / n + 1, x = u - (k - 1) * n, dn = label[u] + 1;
            if (k < levels && unlabelled[k + 1] > 0)
            {
                // (k + 1, i) → (k, x) has residual capacity A_k[i, x] - flow.
                int row = k * nn + x * n, tail = k * n;
                for (int i = 0; i < n; i++)
                    if (label[tail + i] == dead && capT[row + i] - ft[row + i] > Eps)
                    {
                        label[tail + i] = dn;
                        queue[tailQ++] = tail + i;
                        unlabelled[k + 1]--;
                    }
            }
            if (k > 1 && unlabelled[k - 1] > 0)
            {
                // (k - 1, j) → (k, x) is the reverse of an edge carrying flow.
                int row = (k - 1) * nn + x * n, head = (k - 2) * n;
                for (int j = 0; j < n; j++)
                    if (label[head + j] == dead && f[row + j] > Eps)
                    {
                        label[head + j] = dn;
                        queue[tailQ++] = head + j;
                        unlabelled[k - 1]--;
                    }
            }
        }
        Array.Clear(count);
        Array.Fill(bucket, -1);
        maxActive = 0;
        for (int w = 0; w < nodes; w++)
        {
            int lw = label[w];
            if (lw >= dead) continue;
            count[lw]++;
            if (excess[w] > Eps)
            {
                next[w] = bucket[lw];
                bucket[lw] = w;
                if (lw > maxActive) maxActive = lw;
            }
        }
        relabels = 0;
    }

    /// <summary>
    /// After <see cref="SolveSink"/>: which nodes of the full layered graph ((layers + 1) × n, index level·n + token)
    /// are on the sink side of the minimum cut, i.e. can still reach the sink in the residual graph.
    /// </summary>
    internal bool[] SinkSide(int t)
    {
        int layers = net.Layers;
        var side = new bool[(layers + 1) * n];
        side[t] = true;
        for (int i = 0; i < n; i++) side[layers * n + i] = i != source;
        if (levels > 0)
        {
            GlobalRelabel();
            for (int w = 0; w < nodes; w++) side[n + w] = label[w] < dead;
        }
        return side;
    }

    /// <summary>Starts over at source <paramref name="s"/> (one pair at a time; for tests).</summary>
    internal double SolvePair(int s, int t)
    {
        source = s;
        if (levels == 0) return cap[s * n + t];
        StartSource(s);
        return SolveSink(t);
    }
}
