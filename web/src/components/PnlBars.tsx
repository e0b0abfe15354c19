// P&L per instrument (Recharts): realised and unrealised side by side.
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";

export type PnlRow = { name: string; realised: number; unrealised: number };

export function PnlBars({ rows }: { rows: PnlRow[] }) {
  return (
    <div style={{ height: 240 }}>
      <ResponsiveContainer width="100%" height="100%">
        <BarChart data={rows}>
          <CartesianGrid strokeDasharray="3 3" strokeOpacity={0.3} />
          <XAxis dataKey="name" fontSize={12} />
          <YAxis fontSize={12} />
          <Tooltip formatter={(v) => Number(v).toLocaleString("en-IN", { style: "currency", currency: "INR" })} />
          <Legend />
          <Bar dataKey="realised" name="Realised" fill="#6366f1" />
          <Bar dataKey="unrealised" name="Unrealised" fill="#f59e0b" />
        </BarChart>
      </ResponsiveContainer>
    </div>
  );
}
