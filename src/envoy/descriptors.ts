/**
 * The message and enum descriptors of a proto-loader package definition by full name,
 * nested types included, and protobuf's rule for resolving a type name written in a field.
 * Shared by the binary decoder (check-request-codec.ts) and the proto3 JSON checker
 * (check-request-json.ts), which read the same descriptors in different ways.
 */
import type * as protoLoader from '@grpc/proto-loader';

export interface DescriptorField {
  readonly name: string;
  readonly number: number;
  readonly label: string;
  readonly type: string;
  readonly typeName: string;
}

export interface DescriptorMessage {
  readonly name?: string;
  readonly field: readonly DescriptorField[];
  readonly nestedType: readonly DescriptorMessage[];
  readonly enumType: readonly DescriptorEnum[];
  readonly oneofDecl: readonly unknown[];
  readonly options?: { readonly mapEntry?: boolean } | null;
}

export interface DescriptorEnum {
  readonly name?: string;
  readonly value: readonly { readonly name: string; readonly number: number }[];
}

export class ProtoDescriptors {
  readonly messages = new Map<string, DescriptorMessage>();
  readonly enums = new Map<string, DescriptorEnum>();

  constructor(def: protoLoader.PackageDefinition) {
    const addMessage = (fullName: string, m: DescriptorMessage): void => {
      this.messages.set(fullName, m);
      for (const n of m.nestedType) addMessage(`${fullName}.${n.name ?? ''}`, n);
      for (const e of m.enumType) this.enums.set(`${fullName}.${e.name ?? ''}`, e);
    };
    for (const [name, value] of Object.entries(def)) {
      const v = value as { format?: string; type?: unknown };
      if (v.format === 'Protocol Buffer 3 DescriptorProto') addMessage(name, v.type as DescriptorMessage);
      else if (v.format === 'Protocol Buffer 3 EnumDescriptorProto') this.enums.set(name, v.type as DescriptorEnum);
    }
  }

  /**
   * The full name of a type written as `typeName` in a field of message `scope`, by
   * protobuf's scoping rule (innermost enclosing scope first); null when none is known.
   * Descriptors from protobufjs write these names relative to the field's message.
   */
  resolve(scope: string, typeName: string): string | null {
    if (typeName.startsWith('.')) return typeName.slice(1);
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), typeName].join('.');
      if (this.messages.has(candidate) || this.enums.has(candidate)) return candidate;
    }
    return null;
  }
}
