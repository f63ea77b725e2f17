// The parts of Engine API documents clawpod reads or writes (Docker API v1.41, also Podman's compat API).

export interface EngineCreateBody {
  Image: string;
  Entrypoint?: string[];
  Cmd?: string[];
  Env: string[];
  User: string;
  WorkingDir?: string;
  Hostname?: string;
  Labels: Record<string, string>;
  ExposedPorts: Record<string, object>;
  OpenStdin: boolean;
  StdinOnce: boolean;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  HostConfig: {
    NetworkMode: string;
    PortBindings: Record<string, { HostIp: string; HostPort: string }[]>;
    Mounts: { Type: 'volume' | 'bind'; Source: string; Target: string; ReadOnly: boolean }[];
    Tmpfs: Record<string, string>;
    ReadonlyRootfs: boolean;
    CapDrop: string[];
    SecurityOpt: string[];
    Memory: number;
    MemorySwap: number;
    NanoCpus: number;
    PidsLimit: number;
    Dns?: string[];
    Sysctls?: Record<string, string>;
    GroupAdd?: string[];
    Runtime?: string;
  };
}

export interface EngineListed {
  Id: string;
  Names?: string[];
  Image: string;
  State: string;
  Labels?: Record<string, string>;
  Ports?: { PrivatePort: number; PublicPort?: number; IP?: string; Type: string }[];
  Created: number;
  Mounts?: { Type: string; Name?: string }[] | null;
}

export interface EngineContainer {
  Id: string;
  Name: string;
  Created: string;
  State: { Status: string; ExitCode: number };
  Config: { Image: string; User: string; Labels?: Record<string, string>; Env?: string[] };
  HostConfig: {
    PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[] | null>;
    ReadonlyRootfs?: boolean;
    CapDrop?: string[];
    SecurityOpt?: string[];
    Memory?: number;
    PidsLimit?: number;
    NanoCpus?: number;
    NetworkMode?: string;
    Runtime?: string;
    CapAdd?: string[] | null;
    Tmpfs?: Record<string, string> | null;
  };
  Mounts?: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null };
}

export interface EngineVolume { Name: string; Labels?: Record<string, string> | null; Mountpoint?: string; CreatedAt?: string }

export interface EngineImage { Id: string; RepoTags?: string[]; Size: number; Config?: { Labels?: Record<string, string> | null } }
